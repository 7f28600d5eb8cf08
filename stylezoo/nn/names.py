"""Names of the shared blocks' variants: plain data, importable without torch."""

from __future__ import annotations

#: Normalisation layers of the junyanz / CUT code bases (``--norm``), plus
#: ``instance_affine`` (InstanceNorm with a learnt scale and shift, as other CycleGAN
#: implementations train it).
NORMS = ("instance", "batch", "none", "instance_affine")
#: Padding of ResNet blocks (``padding_type``).
PADDINGS = ("reflect", "replicate", "zero")
#: ResNet generator names (``--netG``) → number of residual blocks.
RESNET_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}
