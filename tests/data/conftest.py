"""Format-correct dataset fixtures built in tmp dirs (tests never download)."""

from __future__ import annotations

import inspect
import struct
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from ganlab.cli.common import CONF_DIR as CONF_ROOT
from ganlab.data import ImageDataModule, MNISTDataModule

IDX_IMAGES, IDX_LABELS = 0x00000803, 0x00000801
CONF_DIR = Path(CONF_ROOT) / "data"


def _config_vs_signature(name: str) -> tuple[str, dict, dict]:
    """ganlab/conf/data/<name>.yaml's _target_ and keys, and its class's constructor defaults."""
    conf = OmegaConf.to_container(OmegaConf.load(CONF_DIR / f"{name}.yaml"))
    target = conf.pop("_target_")
    module, cls_name = target.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[cls_name]), cls_name)
    defaults = {}
    for klass in (ImageDataModule, cls):  # subclass defaults override the base's
        for p in list(inspect.signature(klass.__init__).parameters.values())[1:]:
            if p.kind is not p.VAR_KEYWORD:
                default = p.default if p.default is not p.empty else "???"
                defaults[p.name] = list(default) if isinstance(default, tuple) else default
    return target, conf, defaults


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file: magic, big-endian dims, raw bytes."""
    magic = IDX_IMAGES if array.ndim == 3 else IDX_LABELS
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_tiny_mnist(root: Path, n_train: int = 10, n_test: int = 4) -> dict[str, np.ndarray]:
    """Tiny MNIST in torchvision's raw layout; returns the arrays written."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, :3] = (0, 51, 255)  # known pixels to check the [-1, 1] mapping exactly
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[f"{prefix}-images"], arrays[f"{prefix}-labels"] = images, labels
    return arrays


@pytest.fixture(scope="session")
def mnist_real(tmp_path_factory) -> MNISTDataModule:
    """The real MNIST, extracted once per session from the bundled copy, at 32x32."""
    dm = MNISTDataModule(tmp_path_factory.mktemp("mnist_real"), image_size=32, batch_size=16)
    dm.prepare_data()
    dm.setup("fit")
    return dm


CELEBA_ATTRS = (  # the header line: the 40 official attribute names, in order
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses "
    "Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache "
    "Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks "
    "Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick "
    "Wearing_Necklace Wearing_Necktie Young"
)
CELEBA_LANDMARKS = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
    "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
)
CELEBA_PARTITION = (0, 0, 0, 1, 1, 2)  # 3 train, 2 valid, 1 test
CELEBA_IDENTITY = (2880, 2937, 8692, 5805, 9295, 4153)


def build_celeba(
    root: Path,
    attrs: np.ndarray | None = None,
    identity: tuple[int, ...] = CELEBA_IDENTITY,
    partition: tuple[int, ...] = CELEBA_PARTITION,
    faces: np.ndarray | None = None,
) -> dict:
    """6 aligned-face JPEGs (178x218) and the 5 annotation files in the official formats.

    Each face is white inside the centred 178x178 square and black in the 20-pixel bands
    above and below it, so a correct centre crop is all white. `attrs` (6 x 40 in {-1, 1})
    replaces the random attributes where a test needs to know them. `identity` and
    `partition` (one per image) give another number of images, people and splits; `faces`
    (n x 218 x 178 x 3 uint8) the pictures.
    """
    n = len(identity)
    assert len(partition) == n
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    random_attrs = rng.choice([-1, 1], size=(n, 40))
    attrs = random_attrs if attrs is None else np.asarray(attrs)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for i, name in enumerate(names):
        face = np.zeros((218, 178, 3), dtype=np.uint8)
        face[20:198] = 255
        if faces is not None:
            face = faces[i]
        Image.fromarray(face).save(base / "img_align_celeba" / name, quality=95)
    count = f"{len(names)}\n"
    attr_rows = [f"{n} " + " ".join(f"{v:2d}" for v in row) for n, row in zip(names, attrs)]
    bbox_rows = [f"{n}    {95 + i} {71 + i} {226 + i} {313 + i}" for i, n in enumerate(names)]
    lm = "69  109  106  113   77  142   73  152  108  154"
    files = {
        "list_attr_celeba.txt": count + CELEBA_ATTRS + "\n" + "\n".join(attr_rows),
        "identity_CelebA.txt": "\n".join(f"{n} {i}" for n, i in zip(names, identity)),
        "list_bbox_celeba.txt": count + "image_id x_1 y_1 width height\n" + "\n".join(bbox_rows),
        "list_landmarks_align_celeba.txt": count
        + CELEBA_LANDMARKS
        + "\n"
        + "\n".join(f"{n} {lm}" for n in names),
        "list_eval_partition.txt": "\n".join(f"{n} {p}" for n, p in zip(names, partition)),
    }
    for filename, text in files.items():
        (base / filename).write_text(text + "\n")
    return {"names": names, "attrs": attrs}


def save_image(path: Path, mode: str, size: tuple[int, int], fmt: str | None = None) -> Path:
    """A random image of `mode` and `size` (W, H) saved at `path`."""
    rng = np.random.default_rng(len(str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    if mode == "P":
        img = Image.fromarray(rng.integers(0, 16, (h, w), dtype=np.uint8), "L").convert("P")
        img.info["transparency"] = 0
    else:
        pixels = rng.integers(0, 256, (h, w, len(mode)), dtype=np.uint8)
        img = Image.fromarray(pixels[..., 0] if mode == "L" else pixels)  # mode from the shape
        assert img.mode == mode
    img.save(path, format=fmt)
    return path


def write_truncated_jpeg(path: Path) -> Path:
    """A JPEG cut to 60% of its bytes: the header opens fine, decoding fails."""
    save_image(path, "RGB", (96, 96), "JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


# The builders as fixtures, so test modules need no import path to this file.
@pytest.fixture
def tiny_mnist():
    return write_tiny_mnist


@pytest.fixture
def celeba_root(tmp_path) -> tuple[Path, dict]:
    return tmp_path, build_celeba(tmp_path)


@pytest.fixture
def make_image():
    return save_image


@pytest.fixture
def make_truncated_jpeg():
    return write_truncated_jpeg


@pytest.fixture
def config_vs_signature():
    return _config_vs_signature


@pytest.fixture
def make_celeba():
    return build_celeba


def build_unpaired_folder(root: Path, counts=(6, 5, 3, 2), size=(24, 20)) -> Path:
    """A CycleGAN dataset layout (trainA, trainB, testA, testB) of small PNGs: A images are
    reddish, B images bluish, each one a different shade; returns ``root``."""
    for folder, n in zip(("trainA", "trainB", "testA", "testB"), counts):
        for i in range(n):
            shade = 40 + 30 * i
            colour = (200, shade, 20) if folder.endswith("A") else (20, shade, 200)
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", size, colour).save(root / folder / f"{i:03d}.png")
    return root
