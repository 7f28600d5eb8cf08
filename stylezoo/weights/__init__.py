"""Where weights come from and how they become networks, in one subpackage.

Modules, lowest first (each imports only those above it, and never :mod:`stylezoo.api`):

- :mod:`.integrity`: sha256 and git-blob hashes, safetensors layout checks, verify-and-refetch.
- :mod:`.cache`: cache locations (huggingface_hub's and stylezoo's own) and offline mode.
- :mod:`.locking`: inter-process locks around cache writes.
- :mod:`.checkpoint`: reading official ``.pth`` files with ``torch.load(weights_only=True)``.
- :mod:`.loading`: state dicts → networks built once on the meta device → a translator.
- :mod:`.directory`: the saved format (``config.json`` + safetensors + model card).
- :mod:`.convert`: official checkpoints → checked weights (the one conversion path).
- :mod:`.upstream`, :mod:`.hub`, :mod:`.package`: the remote and packaged sources.
- :mod:`.sources`: resolving a name, path or ``hf-hub:`` id to files on this machine.

Importing this package imports nothing heavy; torch is imported by the modules that need it.
"""
