"""LightningModule that trains an LSTMTagger with NLL loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from seqlab.data.batches import Batch
from seqlab.data.vocab import IGNORE_INDEX, UNK, Vocab, encode_words
from seqlab.models.base_module import SeqlabModule
from seqlab.models.crf import CRF
from seqlab.models.lstm_tagger import LSTMTagger


class TaggerModule(SeqlabModule):
    """Part-of-speech tagging. The vocabularies are hyperparameters, so a checkpoint tags
    new text on its own, without the training data.

    Options (all off in the tutorial presets): `bidirectional`, `num_layers`, `dropout`;
    `crf`, a CRF output layer trained on the sequence likelihood and decoded with Viterbi;
    `word_dropout`, the chance that a training word is read as <unk>, so the model learns
    what to do with words it has not seen; `lowercase`, words are looked up lowercased.
    """

    metric_name = "acc"

    def __init__(
        self,
        words: Sequence[str],
        tags: Sequence[str],
        embedding_dim: int = 32,
        hidden_dim: int = 64,
        num_layers: int = 1,
        lr: float = 0.1,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        scheduler_interval: str = "epoch",
        bidirectional: bool = False,
        dropout: float = 0.0,
        crf: bool = False,
        word_dropout: float = 0.0,
        lowercase: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.words, self.tags = Vocab.from_itos(words), Vocab.from_itos(tags)
        self.net = LSTMTagger(
            len(self.words),
            len(self.tags),
            embedding_dim,
            hidden_dim,
            num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        self.crf = CRF(len(self.tags)) if crf else None
        acc = dict(num_classes=len(self.tags), ignore_index=IGNORE_INDEX, average="micro")
        self.val_metric, self.test_metric = MulticlassAccuracy(**acc), MulticlassAccuracy(**acc)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """words (B, L) -> tag log-probabilities (B, L, T) (per word; without the CRF)."""
        return self.net(words, lengths)

    def predict_tags(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """words (B, L) -> best tag indices (B, L): Viterbi with the CRF, else per word."""
        return self._best_tags(self.net.emissions(words, lengths), lengths)

    def _best_tags(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Tag scores (B, L, T) -> best tag indices (B, L)."""
        if self.crf is None:
            return emissions.argmax(-1)
        return self.crf.decode(emissions, _mask(lengths, emissions.shape[1]))

    def step(self, batch: Batch, stage: str) -> torch.Tensor:
        words, tags, lengths = batch["words"], batch["tags"], batch["lengths"]  # (B, L) ...
        if stage == "train" and self.hparams.word_dropout > 0:
            unknown = torch.rand(words.shape, device=words.device) < self.hparams.word_dropout
            words = torch.where(unknown & (words != 0), self.words.stoi[UNK], words)
        emissions = self.net.emissions(words, lengths)  # (B, L, T)
        if self.crf is None:
            log_probs = F.log_softmax(emissions, dim=-1)
            loss = F.nll_loss(log_probs.flatten(0, 1), tags.flatten(), ignore_index=IGNORE_INDEX)
        else:
            loss = self.crf.nll(emissions, tags, _mask(lengths, words.shape[1]))
        if stage == "train":
            # Token accuracy of the per-word best tags, without a metric object: weighted by
            # tokens it averages exactly. (With the CRF, evaluation decodes with Viterbi.)
            real = tags != IGNORE_INDEX
            tokens = real.sum()
            correct = (emissions.detach().argmax(-1) == tags)[real].float().sum()
            self.log_train({"loss": (loss, len(tags)), "acc": (correct / tokens, tokens)})
        else:
            self.log_eval(stage, loss, len(tags))
            getattr(self, f"{stage}_metric").update(self._best_tags(emissions, lengths), tags)
        return loss

    @torch.no_grad()
    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Most likely tags of every sentence; unknown words are read as <unk>."""
        if self.hparams.get("lowercase"):
            sentences_in = [[w.lower() for w in s] for s in sentences]
        else:
            sentences_in = sentences
        batch = encode_words(sentences_in, self.words)
        words, lengths = batch["words"].to(self.device), batch["lengths"].to(self.device)
        was_training = self.training
        self.eval()
        best = self.predict_tags(words, lengths).cpu()  # (B, L)
        self.train(was_training)
        rows = zip(best.tolist(), sentences, strict=True)
        return [self.tags.decode(row[: len(sentence)]) for row, sentence in rows]


def _mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, L) True at real tokens."""
    return torch.arange(max_len, device=lengths.device) < lengths.unsqueeze(1)
