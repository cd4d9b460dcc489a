"""The image history pool: fills first, then returns a mix of stored and new images."""

import pytest
import torch

from ganlab.models.image_pool import ImagePool


def images(start: int, n: int) -> torch.Tensor:
    """n distinct 1x1x1 images whose value is their id."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def ids(batch: torch.Tensor) -> list[int]:
    return batch.flatten().long().tolist()


def test_fills_then_mixes_stored_and_new_images():
    torch.manual_seed(0)
    pool = ImagePool(size=4)
    # While filling, the new images come back unchanged and are stored.
    assert ids(pool.query(images(0, 3))) == [0, 1, 2]
    assert len(pool) == 3
    assert ids(pool.query(images(3, 1))) == [3]
    assert len(pool) == 4 and sorted(ids(torch.cat(pool.images))) == [0, 1, 2, 3]
    # Full: each image is swapped for a stored one with probability 1/2.
    given = ids(images(100, 200))
    out = ids(pool.query(images(100, 200)))
    swapped = [g for g, o in zip(given, out) if g != o]
    assert 70 < len(swapped) < 130  # about half of 200 coin flips (p > 0.99)
    assert {0, 1, 2, 3} & set(out)  # the images stored before this batch come back
    assert len(pool) == 4  # never grows beyond its size
    # Swapped-in images took a stored place, so the pool now holds this batch's images too.
    assert set(ids(torch.cat(pool.images))) & set(swapped)


def test_swapped_out_images_were_stored_before():
    torch.manual_seed(1)
    pool = ImagePool(size=2)
    pool.query(images(0, 2))
    seen = {0, 1}
    for step in range(1, 30):
        batch = images(10 * step, 3)
        out = ids(pool.query(batch))
        for given, got in zip(ids(batch), out):
            assert got == given or got in seen  # a returned old image was stored earlier
            seen.add(given)


def test_size_zero_is_no_pool():
    pool = ImagePool(size=0)
    batch = images(0, 5)
    assert pool.query(batch) is batch and len(pool) == 0


def test_same_seed_same_choices_and_state_round_trip():
    def run(seed):
        torch.manual_seed(seed)
        pool = ImagePool(size=3)
        outs = [ids(pool.query(images(10 * i, 4))) for i in range(6)]
        return outs, pool

    (a, pool), (b, _) = run(5), run(5)
    assert a == b
    restored = ImagePool(size=1)
    restored.load_state_dict(pool.state_dict())
    assert restored.size == 3 and ids(torch.cat(restored.images)) == ids(torch.cat(pool.images))


def test_negative_size_refused():
    with pytest.raises(ValueError, match="pool size"):
        ImagePool(size=-1)
