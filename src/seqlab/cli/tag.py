"""seqlab-tag: tag sentences with a trained tagger checkpoint.

    seqlab-tag <run>/checkpoints/best.ckpt "The dog barks ." "Dogs bark"
    echo "The dog barks ." | seqlab-tag <run>/checkpoints/best.ckpt --format conllu

One sentence per argument or per input line, split on whitespace. Prints `word/TAG` tokens
(or CoNLL-U with the tag in the UPOS column). Unknown words are read as <unk>.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from seqlab.config import ConfigError
from seqlab.contracts import Tagger
from seqlab.tagging import load_tagger
from seqlab.trust import check_trusted_targets


def format_text(words: Sequence[str], tags: Sequence[str]) -> str:
    return " ".join(f"{w}/{t}" for w, t in zip(words, tags, strict=True))


def format_conllu(words: Sequence[str], tags: Sequence[str], number: int) -> str:
    lines = [f"# sent_id = {number}", f"# text = {' '.join(words)}"]
    for i, (word, tag) in enumerate(zip(words, tags, strict=True), 1):
        lines.append(f"{i}\t{word}\t_\t{tag}\t_\t_\t_\t_\t_\t_")
    return "\n".join(lines) + "\n"


def tag_lines(
    model: Tagger, lines: Iterable[str], fmt: str, batch_size: int = 256
) -> Iterable[str]:
    """Tag non-empty lines in batches; yield the formatted sentences in input order."""
    sentences = [line.split() for line in lines if line.strip()]
    number = 0
    for lo in range(0, len(sentences), batch_size):
        chunk = sentences[lo : lo + batch_size]
        for words, tags in zip(chunk, model.tag(chunk), strict=True):
            number += 1
            yield (
                format_conllu(words, tags, number) if fmt == "conllu" else format_text(words, tags)
            )


def main(argv: Sequence[str] | None = None) -> None:
    """seqlab-tag <checkpoint> [sentence ...]: tag sentences (default: one per input line)."""
    parser = argparse.ArgumentParser(prog="seqlab-tag", description=__doc__.splitlines()[0])
    parser.add_argument("ckpt_path", help="a tagger checkpoint (<run>/checkpoints/best.ckpt)")
    parser.add_argument("sentences", nargs="*", help="sentences to tag (default: stdin)")
    parser.add_argument("--format", choices=("text", "conllu"), default="text")
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="IMPORT_PATH",
        help="a class outside seqlab that the checkpoint may name (your own model); repeatable",
    )
    args = parser.parse_intermixed_args(argv)
    try:
        model = load_tagger(args.ckpt_path, check_trusted_targets(args.trust))
    except ConfigError as e:
        parser.exit(2, f"seqlab-tag: error: {e}\n")
    lines = args.sentences or sys.stdin
    for out in tag_lines(model, lines, args.format):
        print(out)


if __name__ == "__main__":
    main()
