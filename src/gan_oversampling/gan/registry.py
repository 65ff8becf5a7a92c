"""Every generator family the batched loop can train, by name (one line each)."""

from __future__ import annotations

from gan_oversampling.gan import cgan, tab_ddpm, wgan_gp
from gan_oversampling.gan.family import Family

FAMILIES: dict[str, Family] = {
    family.name: family for family in (cgan.FAMILY, wgan_gp.FAMILY, tab_ddpm.FAMILY)
}
