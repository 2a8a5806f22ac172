"""pytest plugin: hypothesis without the shrink phase, so that a failing state machine
fails fast under a mutation (the failure itself is what counts here)."""

try:
    from hypothesis import Phase, settings

    settings.register_profile("mut-noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("mut-noshrink")
except ImportError:
    pass
