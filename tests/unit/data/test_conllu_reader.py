"""Reading CoNLL-U files: what is tagged, what is skipped, and one-line errors."""

import pytest

from seqlab.config import ConfigError
from seqlab.data.conllu_reader import check_known_tags, read_conllu
from tests.conftest import CONLLU_TOKEN, write_conllu

GOOD = "\n".join(
    [
        "# sent_id = 1",
        "# text = Don't stop.",
        "1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_",
        CONLLU_TOKEN.format(id=1, form="Do", upos="AUX", xpos="VBP"),
        CONLLU_TOKEN.format(id=2, form="n't", upos="PART", xpos="RB"),
        CONLLU_TOKEN.format(id=3, form="stop", upos="VERB", xpos="VB"),
        "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_",
        CONLLU_TOKEN.format(id=4, form=".", upos="PUNCT", xpos="."),
        "",
        "# sent_id = 2",
        CONLLU_TOKEN.format(id=1, form="Dogs", upos="NOUN", xpos="NNS"),
        CONLLU_TOKEN.format(id=2, form="bark", upos="VERB", xpos="VBP"),
        "",
    ]
)


def test_tokens_comments_ranges_and_empty_nodes(tmp_path):
    sentences = read_conllu(write_conllu(tmp_path, GOOD))
    assert [s.words for s in sentences] == [["Do", "n't", "stop", "."], ["Dogs", "bark"]]
    assert [s.tags for s in sentences] == [["AUX", "PART", "VERB", "PUNCT"], ["NOUN", "VERB"]]
    assert sentences[0].lines == [4, 5, 6, 8]
    xpos = read_conllu(write_conllu(tmp_path, GOOD), tag_column="xpos")
    assert xpos[1].tags == ["NNS", "VBP"]


def test_last_sentence_without_a_final_blank_line(tmp_path):
    sentences = read_conllu(write_conllu(tmp_path, GOOD.rstrip("\n")))
    assert len(sentences) == 2 and sentences[1].words == ["Dogs", "bark"]


BAD = [
    ("1\tDogs\tdog\tNOUN\n", "data.conllu:1: a token line needs 10 tab-separated fields, found 4"),
    (CONLLU_TOKEN.format(id="x", form="a", upos="DET", xpos="DT"), "data.conllu:1: token ID 'x'"),
    (
        CONLLU_TOKEN.format(id=1, form="a", upos="_", xpos="DT"),
        "data.conllu:1: no upos tag for 'a'",
    ),
    ("", "data.conllu: no sentences (an empty file?)"),
    ("# only a comment\n\n", "data.conllu: no sentences"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_malformed_files_name_the_file_and_line(text, message, tmp_path):
    with pytest.raises(ConfigError) as error:
        read_conllu(write_conllu(tmp_path, text))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_file_and_unknown_tag_column(tmp_path):
    with pytest.raises(ConfigError, match="nope.conllu: no such file"):
        read_conllu(tmp_path / "nope.conllu")
    with pytest.raises(ConfigError, match="data.tag_column='deprel' is not allowed"):
        read_conllu(write_conllu(tmp_path, GOOD), tag_column="deprel")


def test_unknown_tags_in_evaluation_files(tmp_path):
    path = write_conllu(tmp_path, GOOD, "dev.conllu")
    sentences = read_conllu(path)
    check_known_tags(sentences, {"AUX", "PART", "VERB", "PUNCT", "NOUN"}, path)
    with pytest.raises(ConfigError, match=r"dev.conllu:11: tag 'NOUN' does not occur"):
        check_known_tags(sentences, {"AUX", "PART", "VERB", "PUNCT"}, path)


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    path = tmp_path / "bom.conllu"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert [s.words for s in read_conllu(path)] == [
        s.words for s in read_conllu(write_conllu(tmp_path, GOOD))
    ]
