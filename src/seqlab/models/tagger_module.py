"""LightningModule that trains an LSTMTagger with NLL loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassConfusionMatrix

from seqlab.config import ConfigError
from seqlab.data.batches import Batch
from seqlab.data.vocab import IGNORE_INDEX, PAD, UNK, Vocab, encode_forms, encode_words
from seqlab.models.base_module import SeqlabModule
from seqlab.models.tag_metrics import accuracies
from seqlab.names import ACC, ACC_BY_TAG, LOSS, TRAIN, metric
from seqlab.nets.common import evaluating
from seqlab.nets.crf import CRF
from seqlab.nets.lstm_tagger import LSTMTagger, Spelling


class TaggerModule(SeqlabModule):
    """Part-of-speech tagging. The vocabularies are hyperparameters, so a checkpoint tags
    new text on its own, without the training data.

    Options (all off in the tutorial presets): `bidirectional`, `num_layers`, `dropout`;
    `crf`, a CRF output layer trained on the sequence likelihood and decoded with Viterbi;
    `word_dropout`, the chance that a training word is read as <unk>, so the model learns
    what to do with words it has not seen; `lowercase`, words are looked up lowercased;
    `char_dim` > 0, character features (a CharCNN of `char_filters` filters of width
    `char_kernel` over `char_dim`-dimensional character embeddings; `chars` is the
    character vocabulary, which the data supplies).

    Evaluation counts a confusion matrix (gold x predicted tags) per epoch: it gives
    `<stage>/acc` and, per tag, `<stage>/acc_by_tag/<TAG>` (the share of that tag's tokens
    tagged right), and stays in `self.confusion[stage]` for reports and figures.
    """

    metric_name = ACC

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
        chars: Sequence[str] | None = None,
        char_dim: int = 0,
        char_filters: int = 50,
        char_kernel: int = 3,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.words, self.tags = Vocab.from_itos(words), Vocab.from_itos(tags)
        # Without character features (or in a checkpoint older than them) there is no
        # character table: an empty one, every character <unk>, keeps the data's code single.
        self.chars = Vocab.from_itos(chars or [PAD, UNK])
        if char_dim > 0 and not chars:
            raise ConfigError(
                f"model.char_dim={char_dim}: character features need data that spells words "
                "out (data=conllu); use model.char_dim=0"
            )
        self.net = self._network()
        self.crf = CRF(len(self.tags)) if crf else None
        counts = dict(num_classes=len(self.tags), ignore_index=IGNORE_INDEX)
        self.val_metric = MulticlassConfusionMatrix(**counts)
        self.test_metric = MulticlassConfusionMatrix(**counts)
        self.confusion: dict[str, torch.Tensor] = {}  # stage -> (T, T) counts, gold x predicted

    def _network(self) -> LSTMTagger:
        hp = self.hparams
        return LSTMTagger(
            len(self.words),
            len(self.tags),
            hp.embedding_dim,
            hp.hidden_dim,
            hp.num_layers,
            bidirectional=hp.bidirectional,
            dropout=hp.dropout,
            num_chars=len(self.chars),
            char_dim=hp.char_dim,
            char_filters=hp.char_filters,
            char_kernel=hp.char_kernel,
        )

    def vocabulary(self) -> dict[str, list[str]]:
        """The vocabularies the model was trained with, for data that evaluates it."""
        return {"words": self.words.itos, "tags": self.tags.itos, "chars": self.chars.itos}

    @property
    def tag_names(self) -> list[str]:
        """Tag names in index order: the rows and columns of `confusion` (CountsConfusion)."""
        return self.tags.itos

    def forward(
        self,
        words: torch.Tensor,
        lengths: torch.Tensor | None = None,
        spelling: Spelling | None = None,
    ) -> torch.Tensor:
        """words (B, L) -> tag log-probabilities (B, L, T) (per word; without the CRF)."""
        return self.net(words, lengths, spelling)

    def predict_tags(
        self, words: torch.Tensor, lengths: torch.Tensor, spelling: Spelling | None = None
    ) -> torch.Tensor:
        """words (B, L) -> best tag indices (B, L): Viterbi with the CRF, else per word."""
        emissions = self.net.emissions(words, lengths, spelling)
        return self._best_tags(emissions, token_mask(lengths, words.shape[1]))

    def _best_tags(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tag scores (B, L, T), real tokens (B, L) -> best tag indices (B, L)."""
        if self.crf is None:
            return emissions.argmax(-1)
        return self.crf.decode(emissions, mask)

    def step(self, batch: Batch, stage: str) -> torch.Tensor:
        words, tags, lengths = batch["words"], batch["tags"], batch["lengths"]  # (B, L) ...
        if stage == TRAIN and self.hparams.word_dropout > 0:
            unknown = torch.rand(words.shape, device=words.device) < self.hparams.word_dropout
            words = torch.where(unknown & (words != 0), self.words.stoi[UNK], words)
        emissions = self.net.emissions(words, lengths, spelling(batch))  # (B, L, T)
        mask = token_mask(lengths, words.shape[1])  # (B, L)
        if self.crf is None:
            log_probs = F.log_softmax(emissions, dim=-1)
            loss = F.nll_loss(log_probs.flatten(0, 1), tags.flatten(), ignore_index=IGNORE_INDEX)
        else:
            loss = self.crf.nll(emissions, tags, mask)
        if stage == TRAIN:
            # Token accuracy of the per-word best tags, without a metric object: weighted by
            # tokens it averages exactly. (With the CRF, evaluation decodes with Viterbi.)
            tokens = mask.sum()
            correct = (emissions.detach().argmax(-1) == tags)[mask].float().sum()
            self.log_train({LOSS: (loss, len(tags)), ACC: (correct / tokens, tokens)})
        else:
            self.log_eval(stage, loss, len(tags))
            self.eval_metric(stage).update(self._best_tags(emissions, mask), tags)
        return loss

    def metric_values(
        self, stage: str, counter: MulticlassConfusionMatrix
    ) -> dict[str, torch.Tensor]:
        """`stage/acc` and `stage/acc_by_tag/<tag>` from the epoch's confusion matrix (which
        is kept, for the confusion plots and report); the matrix is then reset."""
        values = {}
        if counter.update_called:  # compute() sums all processes' counts itself
            confusion = counter.compute()  # (T, T): rows gold, columns predicted
            self.confusion[stage] = confusion.cpu()
            overall, by_tag, tokens = accuracies(confusion)
            values[metric(stage, ACC)] = overall
            for tag, acc, count in zip(self.tags.itos, by_tag, tokens, strict=True):
                if count > 0:  # a tag absent from the split has no accuracy
                    values[metric(stage, f"{ACC_BY_TAG}/{tag}")] = acc
        counter.reset()
        return values

    @torch.no_grad()
    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Most likely tags of every sentence. Unknown words are read as <unk> (and, with
        character features, by their spelling)."""
        if self.hparams.get("lowercase"):
            sentences_in = [[w.lower() for w in s] for s in sentences]
        else:
            sentences_in = sentences
        batch = encode_words(sentences_in, self.words)
        words, lengths = batch["words"].to(self.device), batch["lengths"].to(self.device)
        spelled = None
        if self.net.char_cnn is not None:  # spelled as written, before lowercasing
            forms, form_chars = encode_forms(sentences, self.chars)
            spelled = (forms.to(self.device), form_chars.to(self.device))
        with evaluating(self):
            best = self.predict_tags(words, lengths, spelled).cpu()  # (B, L)
        rows = zip(best.tolist(), sentences, strict=True)
        return [self.tags.decode(row[: len(sentence)]) for row, sentence in rows]


def spelling(batch: Batch) -> Spelling | None:
    """A batch's (forms, form_chars), if its data spells words out (see SpelledBatches)."""
    return (batch["forms"], batch["form_chars"]) if "form_chars" in batch else None


def token_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, L) True at real tokens."""
    return torch.arange(max_len, device=lengths.device) < lengths.unsqueeze(1)
