"""What every setting of ``ganlab-train`` accepts (type and range), checked before anything
is built or loaded.

The class signatures say types (cli/check_config.py checks those), but not ranges:
``model.generator.nz=0`` or ``max_iters=-5`` reached torch or Lightning and came back as
their tracebacks. Ranges are declared here, one rule per setting (a glob over its dotted key,
the first match wins), so a wrong value is one line naming the key and what it accepts.
tests/cli/test_settings.py requires a rule for every leaf of every group choice, so a new
setting cannot ship without one.
"""

from __future__ import annotations

import fnmatch
import functools
import math
from dataclasses import dataclass

from omegaconf import DictConfig

from ganlab.cli.run_names import flat_config
from ganlab.errors import ConfigError

NUMBER = (int, float)


@dataclass(frozen=True)
class Accepts:
    """Values of ``types`` within the bounds, or one of ``words`` (exact values, e.g. "auto"
    or -1), or null if ``nullable``."""

    types: tuple[type, ...]
    low: float | None = None
    low_open: bool = False  # True: > low; False: >= low
    high: float | None = None
    high_open: bool = False
    words: tuple = ()
    nullable: bool = False
    item: Accepts | None = None  # for lists: what each item accepts

    def accepts(self, value) -> bool:
        if value is None:
            return self.nullable
        if any(value == w and type(value) is type(w) for w in self.words):
            return True
        if isinstance(value, bool):  # a bool is an int in Python, not in a config
            return bool in self.types
        if not isinstance(value, self.types):
            return False
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                return False
            if self.low is not None and (value <= self.low if self.low_open else value < self.low):
                return False
            if self.high is not None and (
                value >= self.high if self.high_open else value > self.high
            ):
                return False
        if isinstance(value, list) and self.item is not None:
            return all(self.item.accepts(v) for v in value)
        return True

    def describe(self) -> str:
        if not self.types:
            what = None
        elif self.types == (bool,):
            what = "true or false"
        elif self.types == (list,):
            what = f"a list whose items are {self.item.describe()}" if self.item else "a list"
        elif self.types == (str,):
            what = "a string"
        else:
            what = "an integer" if self.types == (int,) else "a number"
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
            what += f" {' and '.join(bounds)}" if bounds else ""
        options = [what] if what else []
        options += [str(w) for w in self.words] + (["null"] if self.nullable else [])
        return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else what


def integer(low: int | None = None, **kw) -> Accepts:
    return Accepts((int,), low=low, **kw)


def number(low: float | None = None, **kw) -> Accepts:
    return Accepts(NUMBER, low=low, **kw)


def optional(rule: Accepts) -> Accepts:
    return Accepts(**{**rule.__dict__, "nullable": True})


BOOL = Accepts((bool,))
STR = Accepts((str,))
TEXT = Accepts((str,), nullable=True)  # a name or path that may be left out
LIST = Accepts((list,))
COUNT = integer(1)  # sizes, periods, counts: at least 1
PROBABILITY = number(0, high=1)
POSITIVE = number(0, low_open=True)
FRACTION = number(0, high=1, high_open=True)  # in [0, 1)

# (glob over the dotted key, what it accepts); the first match wins, so specific keys
# come before the patterns that would also match them.
RULES: tuple[tuple[str, Accepts], ...] = (
    # top level
    ("seed", integer(0, high=2**32 - 1)),  # what seed_everything takes
    ("max_iters", optional(COUNT)),
    ("max_nonfinite_skips", integer(0)),
    ("ckpt_path", TEXT),
    ("init_from", TEXT),
    ("resume", Accepts((), words=("auto",), nullable=True)),
    ("objective", TEXT),
    ("task_name", STR),
    ("paths.*", TEXT),
    # model
    ("model.n_critic", COUNT),
    ("model.grad_clip_[gd]", optional(POSITIVE)),
    ("model.ema_decay", optional(number(0, low_open=True, high=1, high_open=True))),
    ("model.ema_start", integer(0)),
    ("model.*optimizer.lr", POSITIVE),
    ("model.*optimizer.betas", Accepts((list,), item=FRACTION)),
    ("model.*optimizer.alpha", FRACTION),
    ("model.*optimizer.eps", POSITIVE),
    ("model.*optimizer.weight_decay", number(0)),
    ("model.*optimizer.momentum", number(0)),
    ("model.*.nz", COUNT),
    ("model.*.ngf", optional(COUNT)),
    ("model.*.ndf", optional(COUNT)),
    ("model.*.embed_dim", optional(COUNT)),
    ("model.*.image_size", COUNT),
    ("model.*channels", COUNT),
    ("model.*num_classes", optional(COUNT)),
    ("model.*multi_label", BOOL),
    ("model.*.norm", STR),
    ("model.*.spectral_norm", BOOL),
    ("model.*.upsample", STR),
    ("model.*.n_layers", COUNT),
    ("model.*.n_blocks", integer(0)),  # 0: no residual blocks
    ("model.*.n_downsampling", COUNT),
    ("model.*.dropout", FRACTION),
    ("model.lambda_[ab]", number(0)),
    ("model.lambda_identity", number(0)),  # 0 turns the identity loss off
    ("model.d_loss_weight", POSITIVE),
    ("model.pool_size", integer(0)),  # 0: no image pool
    ("model.lr_schedule.interval", Accepts((), words=("iteration", "epoch"))),
    ("model.lr_schedule.constant", optional(integer(0))),
    ("model.lr_schedule.decay", optional(integer(0))),
    ("model.label_names", Accepts((list,), nullable=True)),
    # VAE, VAE-GAN
    ("model.nz", COUNT),
    ("model.beta", number(0)),
    ("model.kl_warmup", integer(0)),
    ("model.gamma", POSITIVE),
    ("model.adv_weight", number(0)),
    ("model.feature_recon", BOOL),
    # pix2pix
    ("model.l1_weight", number(0)),
    ("model.*.num_downs", optional(COUNT)),
    ("model.grad_clip", optional(POSITIVE)),
    ("model.likelihood.sigma", POSITIVE),
    ("model.likelihood.learn", BOOL),
    ("model.*.output", Accepts((), words=("tanh", "none"))),
    # loss, regulariser, augmentation
    ("loss.saturating", BOOL),
    ("loss.gp_weight", number(0)),
    ("loss.clip", POSITIVE),
    ("reg.gamma", number(0)),
    ("reg.every", COUNT),
    ("augment.policy", Accepts((list,), item=STR)),
    ("augment.translation", PROBABILITY),
    ("augment.cutout", PROBABILITY),
    ("augment.p", PROBABILITY),
    ("augment.p_init", PROBABILITY),
    ("augment.p_max", number(0, low_open=True)),
    ("augment.target", number(0, low_open=True, high=1, high_open=True)),
    ("augment.interval", COUNT),
    ("augment.kimg", POSITIVE),
    # data
    ("data.root", STR),
    ("data.batch_size", COUNT),
    ("data.image_size", COUNT),
    ("data.channels", COUNT),
    ("data.load_size", COUNT),
    ("data.crop_size", COUNT),
    ("data.num_workers", integer(0)),
    ("data.limit", optional(COUNT)),
    ("data.repeat", Accepts((int,), low=1, words=("auto",))),
    ("data.min_images_per_identity", COUNT),
    ("data.min_source_size", optional(COUNT)),
    ("data.pin_memory", Accepts((bool,), nullable=True)),
    ("data.persistent_workers", BOOL),
    ("data.drop_last", BOOL),
    ("data.download", BOOL),
    ("data.binarize", Accepts((), words=("threshold", "sample"), nullable=True)),
    ("data.check_images", BOOL),
    ("data.flip", BOOL),
    ("data.hflip", BOOL),
    ("data.extensions", Accepts((list,), item=STR)),
    ("data.target_type", Accepts((list,), item=STR)),
    ("data.attribute*", Accepts((str, list), nullable=True)),
    ("data.labels", Accepts((str, list), nullable=True)),
    ("data.identity_split", STR),
    ("data.on_bad_image", STR),
    ("data.prepared", STR),
    ("data.prepared_dir", TEXT),
    ("data.b_style", STR),
    # data/degrade: (degraded, clean) pairs for restoration models
    ("data.degrade.factor", integer(2)),
    ("data.degrade.holes", COUNT),
    ("data.degrade.min_size", number(0, low_open=True, high=1)),
    ("data.degrade.max_size", number(0, low_open=True, high=1)),
    ("data.degrade.shape", Accepts((), words=("rect", "stroke"))),
    ("data.degrade.fill", Accepts((), words=("mean", "zero"))),
    ("data.degrade.sigma", POSITIVE),
    ("data.degrade.min_sigma", optional(POSITIVE)),
    ("data.degrade.kernel_size", optional(integer(3))),
    ("data.degrade.quality", integer(1, high=100)),
    ("data.degrade.min_quality", optional(integer(1, high=100))),
    # callbacks
    ("callbacks.evaluation.every_n_iters", integer(0)),  # 0: only after the last iteration
    ("callbacks.sample_grid.every_n_iters", integer(0)),  # 0: only the grid at the end
    ("callbacks.*.every_n_iters", COUNT),
    ("callbacks.*.n", COUNT),
    ("callbacks.*.nrow", COUNT),
    ("callbacks.*.batch_size", COUNT),
    ("callbacks.*.seed", integer(0, high=2**32 - 1)),
    ("callbacks.*.split", STR),
    ("callbacks.*.monitor", TEXT),
    ("callbacks.*.cache_dir", TEXT),
    ("callbacks.*.dirpath", STR),
    ("callbacks.*.save_last", BOOL),
    ("callbacks.*.save_top_k", integer(-1)),  # -1: keep every checkpoint
    ("callbacks.*.enable_version_counter", BOOL),
    # what the evaluation measures
    ("features.inception.feature", Accepts((), words=(64, 192, 768, 2048))),
    ("features.*.weights_path", TEXT),
    ("features.*.cache_dir", TEXT),
    ("features.*.data_root", TEXT),
    ("metrics.is.splits", COUNT),
    ("metrics.kid.subset_size", COUNT),
    ("metrics.kid.subsets", COUNT),
    ("metrics.pr.k", COUNT),
    ("metrics.nll.k", COUNT),
    ("metrics.nll.n", optional(COUNT)),
    ("metrics.nll.batch_size", COUNT),
    ("metrics.nll.seed", integer(0, high=2**32 - 1)),
    ("metrics.nll.split", STR),
    # trainer (Lightning's Trainer arguments)
    ("trainer.accelerator", STR),
    ("trainer.devices", Accepts((int, list, str), low=1, words=(-1,))),  # -1: all, "0,1"
    ("trainer.num_nodes", COUNT),
    ("trainer.strategy", STR),
    ("trainer.precision", Accepts((str, int), low=16, high=64)),  # 16, 32, 64, "bf16-mixed"...
    ("trainer.max_epochs", Accepts((int,), low=1, words=(-1,))),  # -1: no limit
    ("trainer.log_every_n_steps", COUNT),
    ("trainer.benchmark", Accepts((bool,), nullable=True)),
    ("trainer.deterministic", Accepts((bool, str), nullable=True)),  # or "warn"
    ("trainer.enable_model_summary", BOOL),
    ("trainer.enable_progress_bar", BOOL),
    ("trainer.sync_batchnorm", BOOL),
    ("trainer.profiler", TEXT),
    # loggers
    ("logger.*.offline", BOOL),
    ("logger.*.log_model", BOOL),
    ("logger.*.tags", Accepts((list, str), nullable=True)),
    ("logger.*.version", Accepts((str, int), low=0, nullable=True)),
    ("logger.*", TEXT),
    # how the nets run
    ("speed.channels_last", Accepts((bool,), words=("auto",))),
    ("speed.compile", BOOL),
    ("speed.compile_options", Accepts((dict,), nullable=True)),
    ("speed.fused_optimizers", BOOL),
)


# The evaluation callback's copies of the top-level features and metrics.
COPIES = ("callbacks.evaluation.features.", "callbacks.evaluation.metrics.")


@functools.cache  # a few hundred keys, each matched against the patterns once
def rule_for(key: str) -> Accepts | None:
    """The rule for a dotted key (``_target_``-like keys have none), or None."""
    if key.rsplit(".", 1)[-1].startswith("_"):
        return None
    if key.startswith(COPIES):
        key = key.removeprefix("callbacks.evaluation.")
    return next((rule for pattern, rule in RULES if fnmatch.fnmatchcase(key, pattern)), None)


def check_values(flat: dict) -> None:
    """Raise a ConfigError for the first value its rule refuses (dotted keys, resolved)."""
    for key, value in flat.items():
        rule = rule_for(key)
        if rule is not None and not rule.accepts(value):
            raise ConfigError(f"{key}={value!r}: {key} must be {rule.describe()}.")


def check_settings(cfg: DictConfig) -> None:
    """Every setting of a composed ``ganlab-train`` config against its rule."""
    check_values(flat_config(cfg))
