-- Rasa's tracker store (nlu/deploy-endpoints.yml): made once with the cluster, so replicas
-- starting together never race to create it.
CREATE DATABASE rasa OWNER lender;
