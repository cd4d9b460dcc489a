"""The VAE-GAN: which net learns from which term, and a run with any loss."""

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.likelihoods import Bernoulli
from ganlab.losses import JSLoss
from ganlab.models import VAEGAN
from ganlab.nets import DCGANDiscriminator, DCGANEncoder, DCGANGenerator, PatchDiscriminator
from tests.conftest import VAEGAN_TINY
from tests.models.test_vae import adam, binary_digits


def small_vaegan(**kwargs) -> VAEGAN:
    torch.manual_seed(0)
    return VAEGAN(
        DCGANEncoder(28, 1, nz=4, ndf=8),
        DCGANGenerator(28, 1, nz=4, ngf=8, output="none"),
        Bernoulli(),
        kwargs.pop("discriminator", None) or DCGANDiscriminator(28, 1, ndf=8),
        JSLoss(),
        adam,
        adam,
        **kwargs,
    )


def grads(net) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else None for p in net.parameters()]


def test_the_adversarial_term_reaches_the_decoder_and_not_the_encoder():
    model, x = small_vaegan(), binary_digits(8)
    terms = model.elbo_terms(x)
    fake = model.fakes(terms["z"])
    model.generator_loss(model.discriminator, fake).backward()
    assert all(g is None for g in grads(model.encoder))
    assert all(g is not None and g.abs().sum() > 0 for g in grads(model.decoder))


def test_gamma_weighs_the_reconstruction_for_the_decoder_only():
    x, eps = binary_digits(8), torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    seen = {}
    for gamma in (1.0, 4.0):
        model = small_vaegan(gamma=gamma)
        terms = model.elbo_terms(x, eps, encoder_share=1 / gamma)
        (gamma * model.reconstruction_loss(x, terms)).mean().backward()
        seen[gamma] = grads(model.encoder), grads(model.decoder)
    for one, four in zip(seen[1.0][0], seen[4.0][0], strict=True):
        assert torch.allclose(one, four, rtol=1e-4, atol=1e-7)  # the encoder: weight 1
    for one, four in zip(seen[1.0][1], seen[4.0][1], strict=True):
        assert torch.allclose(4 * one, four, rtol=1e-4, atol=1e-7)  # the decoder: gamma


def test_d_sees_reconstructions_and_prior_samples():
    model = small_vaegan().eval()
    z = torch.randn(6, 4)
    fake = model.fakes(z)
    assert fake.shape == (6, 1, 28, 28)
    with torch.no_grad():
        rebuilt = model.likelihood.mean(model.decoder(z[:3]))
    assert torch.allclose(fake[:3], rebuilt, atol=1e-6)  # the first half: decoded from z
    assert not torch.allclose(fake[3:], model.likelihood.mean(model.decoder(z[3:])))


def test_feature_recon_needs_a_discriminator_with_features():
    model = small_vaegan(feature_recon=True)
    x = binary_digits(4)
    terms = model.elbo_terms(x)
    loss = model.reconstruction_loss(x, terms)
    target = model.discriminator.features(x)
    rebuilt = model.discriminator.features(model.likelihood.mean(terms["out"]))
    assert torch.allclose(loss, 0.5 * (rebuilt - target).pow(2).sum(1))
    patch = PatchDiscriminator(channels=1, ndf=8, n_layers=1)
    with pytest.raises(ConfigError, match="feature_recon=true needs a discriminator with"):
        small_vaegan(feature_recon=True, discriminator=patch)


@pytest.mark.parametrize(
    "extra",
    [["loss=hinge", "reg=r1", "augment=diffaug"], ["loss=wgan_gp", "model.feature_recon=true"]],
)
def test_a_vaegan_trains_with_any_loss(run_train, extra):
    summary, _ = run_train(*extra, max_iters=2, base=VAEGAN_TINY)
    assert summary["status"] == "completed" and summary["g_steps"] == 2
    n_critic = 5 if "loss=wgan_gp" in extra else 1  # loss_model/wgan_gp_vaegan.yaml
    assert summary["d_steps"] == 2 * n_critic
    assert {"train/d_loss", "train/g_loss", "train/g_adv", "train/elbo", "val/elbo"} <= set(
        summary["final"]
    )
