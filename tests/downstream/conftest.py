"""A separable labelled dataset and stand-in generators for the downstream measures."""

from functools import partial

import pytest
import torch

from ganlab.data.base import LabelSpec, TensorImageDataset
from ganlab.downstream import SmallCNN
from ganlab.models.capabilities import LabelConditioned

CLASSES = 4
SIZE = 16


def render(labels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Class c: a bright 8x8 square in quadrant c of a dark noisy 16x16 image, in [-1, 1]."""
    images = -0.8 + 0.2 * noise.view(len(labels), 1, SIZE, SIZE).clamp(-1, 1)
    for i, c in enumerate(labels.tolist()):
        r, col = divmod(c, 2)
        images[i, :, 8 * r : 8 * r + 8, 8 * col : 8 * col + 8] = 0.8
    return images


class Shapes:
    """The part of a ganlab datamodule the downstream measures use."""

    num_workers = 0

    def __init__(self, n_train=400, n_test=200):
        self.sets = {}
        for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
            gen = torch.Generator().manual_seed(seed)
            labels = torch.arange(n) % CLASSES
            images = render(labels, torch.randn(n, SIZE * SIZE, generator=gen))
            as_uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
            self.sets[split] = TensorImageDataset(as_uint8, labels)

    def get_dataset(self, split):
        return self.sets[split]

    def label_spec(self):
        return LabelSpec(CLASSES, False, ("top-left", "top-right", "bottom-left", "bottom-right"))


class Oracle:
    """A 'conditional generator' that draws its labels' images exactly (or, ``blind``, the
    images of random labels whatever it is asked)."""

    num_classes, multi_label = CLASSES, False

    def __init__(self, blind=False):
        self.blind = blind

    def sample_z(self, n, generator=None, truncation=None):
        return torch.randn(n, SIZE * SIZE, generator=generator)

    def sample(self, z, labels):
        if self.blind:
            labels = torch.randint(
                0, CLASSES, (len(z),), generator=torch.Generator().manual_seed(len(z))
            )
        return render(labels, z)


# Stand-ins declare what they are (they implement only what the measures call).
LabelConditioned.register(Oracle)


@pytest.fixture
def shapes():
    return Shapes()


@pytest.fixture
def cnn():
    return partial(SmallCNN, width=8)


# CelebA-format faces in which identity shows: each person a colour, each photo its own noise.
COLOURS = ((220, 40, 40), (40, 200, 40), (40, 40, 220), (220, 200, 40), (200, 40, 200))
# Photos per person: person 2 has the most; person 4 too few for min_images_per_identity=5.
PHOTOS = (10, 10, 12, 10, 3)
FACE_ATTRIBUTES = ["Smiling", "Male"]


def face_fixture(root):
    """CelebA files under ``root``: per person, all but the last 3 photos in the official train
    split, then 1 val, 2 test (person 4: all train); each person's 40 attributes fixed, so a
    recogniser that tells the people apart predicts them. Returns (attributes, persons)."""
    import numpy as np

    from tests.data.conftest import build_celeba

    rng = np.random.default_rng(0)
    person_attrs = rng.choice([-1, 1], size=(len(PHOTOS), 40))
    persons, partition = [], []
    for person, n in enumerate(PHOTOS):
        persons += [person] * n
        partition += [0] * n if n < 5 else [0] * (n - 3) + [1, 2, 2]
    faces = np.empty((len(persons), 218, 178, 3), dtype=np.uint8)
    for i, person in enumerate(persons):
        noise = rng.integers(-30, 31, size=(218, 178, 3))
        faces[i] = np.clip(np.array(COLOURS[person]) + noise, 0, 255)
    build_celeba(
        root, person_attrs[persons], identity=tuple(100 + p for p in persons),
        partition=tuple(partition), faces=faces,
    )  # fmt: skip
    return person_attrs, persons


class AttributeFaces:
    """An attribute-conditional 'generator' of 32x32 faces that records what it was asked."""

    num_classes, multi_label, label_names = len(FACE_ATTRIBUTES), True, FACE_ATTRIBUTES

    def __init__(self):
        self.asked = []

    def sample_z(self, n, generator=None, truncation=None):
        return torch.randn(n, 8, generator=generator)

    def sample(self, z, labels):
        self.asked.append(labels)
        return torch.tanh(z[:, :3, None, None]).expand(-1, -1, 32, 32)


LabelConditioned.register(AttributeFaces)
