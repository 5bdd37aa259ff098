from rag.sentences import split_sentences
from rag.text import SYMBOL_RE, SYMBOL_TOKEN_RE, canonical_symbol, nfkc, squash, symbol_key


def test_nfkc_and_squash():
    assert nfkc("Ｓ／ＲＥＳ／２５１８ （２０２０）") == "S/RES/2518 (2020)"
    assert squash(" 安全 理事会\n\u3000第 2518\t号 ") == "安全理事会第2518号"


def test_symbol_forms():
    assert symbol_key("S/RES/2518 （2020）") == "s/res/2518(2020)"
    assert canonical_symbol("s/res/2518（2020）") == "S/RES/2518 (2020)"
    assert canonical_symbol("S / PV.8838") == "S/PV.8838"


def test_symbol_patterns():
    text = nfkc("见S/PV.8838和S/RES/2518 （2020），第2589 (2021)号决议，AS/1不是")
    assert [m.group() for m in SYMBOL_RE.finditer(text)] == ["S/PV.8838", "S/RES/2518 (2020)"]
    assert [m.group() for m in SYMBOL_TOKEN_RE.finditer(text)] == [
        "S/PV.8838", "S/RES/2518 (2020)", "2589 (2021)"]


def test_split_sentences_keeps_closers():
    assert split_sentences("他说：“好。”然后离开；完了") == ["他说：“好。”", "然后离开；", "完了"]
