"""LightningModule that trains an LSTMTagger with NLL loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from seqlab.data.batches import Batch
from seqlab.data.vocab import IGNORE_INDEX, Vocab, encode_words
from seqlab.models.base_module import SeqlabModule
from seqlab.models.lstm_tagger import LSTMTagger


class TaggerModule(SeqlabModule):
    """Part-of-speech tagging. The vocabularies are hyperparameters, so a checkpoint tags
    new text on its own, without the training data."""

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
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.words, self.tags = Vocab.from_itos(words), Vocab.from_itos(tags)
        self.net = LSTMTagger(
            len(self.words), len(self.tags), embedding_dim, hidden_dim, num_layers
        )
        acc = dict(num_classes=len(self.tags), ignore_index=IGNORE_INDEX, average="micro")
        self.val_metric, self.test_metric = MulticlassAccuracy(**acc), MulticlassAccuracy(**acc)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """words (B, L) -> tag log-probabilities (B, L, T)."""
        return self.net(words, lengths)

    def step(self, batch: Batch, stage: str) -> torch.Tensor:
        tags = batch["tags"]  # (B, L), padding = IGNORE_INDEX
        log_probs = self(batch["words"], batch["lengths"])  # (B, L, T)
        loss = F.nll_loss(log_probs.flatten(0, 1), tags.flatten(), ignore_index=IGNORE_INDEX)
        predicted = log_probs.detach().argmax(-1)  # (B, L)
        if stage == "train":
            # Token accuracy without a metric object: weighted by tokens, it averages exactly.
            real = tags != IGNORE_INDEX
            tokens = real.sum()
            correct = (predicted == tags)[real].float().sum()
            self.log_train({"loss": (loss, len(tags)), "acc": (correct / tokens, tokens)})
        else:
            self.log_eval(stage, loss, len(tags))
            getattr(self, f"{stage}_metric").update(predicted, tags)
        return loss

    @torch.no_grad()
    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Most likely tag of every word; unknown words are read as <unk>."""
        batch = encode_words(sentences, self.words)
        words, lengths = batch["words"].to(self.device), batch["lengths"].to(self.device)
        was_training = self.training
        self.eval()
        best = self(words, lengths).argmax(-1).cpu()  # (B, L)
        self.train(was_training)
        rows = zip(best.tolist(), sentences, strict=True)
        return [self.tags.decode(row[: len(sentence)]) for row, sentence in rows]
