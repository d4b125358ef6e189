"""Jieba tokenizer for mixed Chinese and English messages.

Rasa's JiebaTokenizer keeps spaces as tokens in mixed text ("我想查 balance" -> 我 想 查 ' '
balance), which misaligns entities and adds noise features; this one drops them. The domain
dictionary in `jieba_dict/` keeps words such as 下周五, 月底, 分期 and 两千五 whole.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CleanJiebaTokenizer(JiebaTokenizer):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return JiebaTokenizer.get_default_config()

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        return [t for t in tokens if t.text.strip()]
