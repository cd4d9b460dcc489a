"""The VAE: its ELBO by hand, the KL in closed form, the IWAE bound, training, grids."""

import csv
import json
import math

import pytest
import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.likelihoods import Bernoulli, Gaussian
from ganlab.losses import HingeLoss, JSLoss
from ganlab.models import VAE
from ganlab.models.vae import gaussian_kl, gaussian_log_density
from ganlab.regularizers import R1
from tests.conftest import VAE_TINY


class LinearEncoder(nn.Module):
    """x (B, 1, 1, 1) -> mu = a * x, logvar = b * x: one pixel, one latent."""

    nz = 1

    def __init__(self, a: float, b: float):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        x = x.flatten(1)
        return self.a * x, self.b * x


class LinearDecoder(nn.Module):
    """z (B, 1) -> the Bernoulli logit c * z of the one pixel."""

    nz = 1

    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, z):
        return (self.c * z).view(-1, 1, 1, 1)


def adam(params):
    return torch.optim.Adam(params, lr=1e-3)


def linear_vae(a=0.5, b=-1.0, c=2.0) -> VAE:
    return VAE(LinearEncoder(a, b), LinearDecoder(c), Bernoulli(), adam)


def test_elbo_of_a_linear_vae_by_hand():
    x, eps = 1.0, 0.3  # one white pixel (image value 1: the Bernoulli target 1)
    mu, logvar = 0.5 * x, -1.0 * x
    z = mu + math.exp(logvar / 2) * eps
    logit = 2.0 * z
    log_px = -math.log1p(math.exp(-logit))  # log sigmoid(logit)
    kl = 0.5 * (mu**2 + math.exp(logvar) - 1 - logvar)
    terms = linear_vae().elbo_terms(torch.ones(1, 1, 1, 1), torch.tensor([[eps]]))
    assert terms["z"].item() == pytest.approx(z, rel=1e-6)
    assert terms["log_px"].item() == pytest.approx(log_px, rel=1e-6)
    assert terms["kl"].item() == pytest.approx(kl, rel=1e-6)
    # A black pixel (image value -1, target 0): log(1 - sigmoid(logit)).
    black = linear_vae().elbo_terms(-torch.ones(1, 1, 1, 1), torch.tensor([[eps]]))
    z_black = -0.5 + math.exp(0.5) * eps
    assert black["log_px"].item() == pytest.approx(-math.log1p(math.exp(2 * z_black)), rel=1e-6)


def test_closed_form_kl_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.7, -1.2, 0.1]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.8, -2.0]], dtype=torch.float64)
    eps = torch.randn(400_000, 3, generator=gen, dtype=torch.float64)
    z = mu + (0.5 * logvar).exp() * eps
    log_q = gaussian_log_density(z, mu, logvar)
    log_p = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    monte_carlo = (log_q - log_p).mean().item()
    assert gaussian_kl(mu, logvar).item() == pytest.approx(monte_carlo, rel=5e-3)


def small_vae(nz=4) -> VAE:
    from ganlab.nets import DCGANEncoder, DCGANGenerator

    torch.manual_seed(0)
    encoder = DCGANEncoder(image_size=28, channels=1, nz=nz, ndf=8)
    decoder = DCGANGenerator(image_size=28, channels=1, nz=nz, ngf=8, output="none")
    return VAE(encoder, decoder, Bernoulli(), adam)


def binary_digits(n=32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.where(torch.rand(n, 1, 28, 28, generator=gen) < 0.2, 1.0, -1.0)


def test_iwae_bound_is_above_the_elbo_and_rises_with_k():
    model, x = small_vae().eval(), binary_digits()
    with torch.no_grad():  # q(z|x) far from the posterior (the prior, for this untrained
        model.encoder.main[-1].weight.mul_(30)  # decoder): a wide gap for the bound to close
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # the ELBO itself, to Monte Carlo precision (many single draws)
        elbo = torch.stack(
            [
                model.elbo_terms(x, torch.randn(len(x), 4, generator=gen))["log_px"]
                - gaussian_kl(*model.encoder(x))
                for _ in range(200)
            ]
        ).mean()
    bounds = {
        k: model.log_likelihood(x, k, torch.Generator().manual_seed(0)).mean().item()
        for k in (1, 10, 100, 1000)
    }
    assert bounds[1] == pytest.approx(elbo.item(), rel=0.01)  # k=1: the ELBO
    assert elbo.item() < bounds[10] < bounds[100] < bounds[1000]
    # The same seed and k: the same estimate (ganlab-eval's values are repeatable).
    again = model.log_likelihood(x, 100, torch.Generator().manual_seed(0)).mean().item()
    assert again == bounds[100]


def test_likelihoods_check_their_data_and_gaussian_log_prob():
    assert Bernoulli().check_data(binary_digits()) is None
    assert "not binary" in Bernoulli().check_data(torch.zeros(1, 1, 2, 2))
    gauss = Gaussian(sigma=0.5)
    x, out = torch.tensor([[[[0.2]]]]), torch.tensor([[[[0.0]]]])
    expected = -0.5 * (0.2 / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)
    assert gauss.log_prob(x, out).item() == pytest.approx(expected, rel=1e-6)
    assert not list(gauss.parameters())  # fixed sigma: nothing to train
    assert [p.shape for p in Gaussian(0.5, learn=True).parameters()] == [torch.Size([])]
    with pytest.raises(ConfigError, match="sigma must be > 0"):
        Gaussian(sigma=0)


def test_a_vae_refuses_a_regulariser_and_mismatched_latents():
    with pytest.raises(ConfigError, match="reg=R1 acts on a discriminator"):
        VAE(LinearEncoder(1, 1), LinearDecoder(1), Bernoulli(), adam, reg=R1())
    with pytest.raises(ConfigError, match="loss=HingeLoss acts on a discriminator"):
        VAE(LinearEncoder(1, 1), LinearDecoder(1), Bernoulli(), adam, loss=HingeLoss())
    VAE(LinearEncoder(1, 1), LinearDecoder(1), Bernoulli(), adam, loss=JSLoss())  # the default
    encoder = LinearEncoder(1, 1)
    encoder.nz = 3
    with pytest.raises(ConfigError, match="the encoder's is 3, the decoder's 1. Set model.nz"):
        VAE(encoder, LinearDecoder(1), Bernoulli(), adam)


def test_reconstruct_and_sample_give_images_in_range():
    model = small_vae().eval()
    x = binary_digits(4)
    rebuilt = model.reconstruct(x)
    assert rebuilt.shape == x.shape and rebuilt.min() >= -1 and rebuilt.max() <= 1
    images = model.sample(model.sample_z(3, torch.Generator().manual_seed(0)))
    assert images.shape == (3, 1, 28, 28)
    assert not model.uses_ema and "_decoded" not in dict(model.named_children())


def train_rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_training_lowers_the_reconstruction_loss_and_writes_grids(run_train):
    summary, out = run_train("data.limit=16", "data.binarize=sample", max_iters=40, base=VAE_TINY)
    assert summary["status"] == "completed" and summary["g_steps"] == 40
    assert summary["d_steps"] == 40 and summary["images_seen"] == 40 * 8
    recon = [float(r["train/recon"]) for r in train_rows(out) if r.get("train/recon")]
    assert len(recon) == 40
    assert sum(recon[-5:]) / 5 < 0.8 * sum(recon[:5]) / 5
    final = summary["final"]
    assert final["val/elbo"] == pytest.approx(-final["val/recon"] - final["val/kl"], rel=1e-5)
    assert {"train/elbo", "train/kl", "train/kl_weight", "train/lr_vae"} <= set(final)
    assert (out / "samples" / "step_000040.png").is_file()
    grid = out / "reconstructions" / "step_000040.png"
    from PIL import Image

    # 8 validation digits and their reconstructions, 2 pairs a row (nrow=4): 4 rows of 4.
    assert Image.open(grid).size == (4 * 30 + 2, 4 * 30 + 2)
    assert json.loads((out / "summary.json").read_text())["model"] == "vae"


def test_kl_warmup_ramps_the_weight():
    model = linear_vae()
    model.beta, model.kl_warmup = 2.0, 4
    weights = []
    for step in range(6):
        model.g_steps = step
        weights.append(model.kl_weight())
    assert weights == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
