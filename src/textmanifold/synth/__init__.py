"""Generated data: CLEVR-style scenes, CCI (CLEVR-Change-Iterative) and the scene
categories of label retrieval, each written as a Collection.

Layer 2 of ``docs/architecture.md``: it imports the foundation and
:mod:`textmanifold.collection` only; :mod:`textmanifold.loaders` reuses its descriptions
and reachability for real CLEVR. The public names load on first use::

    from textmanifold.synth import generate_cci, reachable_pairs, describe_scene
"""

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "cci": ("cci_config", "generate_cci"),
        "classes": ("CategorySet", "ClassesConfig", "category_scenes", "generate_classes"),
        "changes": ("CHANGE_PRESETS", "apply_change", "enumerate_changes", "sample_changes"),
        "change_types": ("Change", "ChangeSpec", "Child"),
        "describe": ("describe_scene",),
        "instructions": ("instruction",),
        "reachability": ("content_scene_index", "mean_neighbours", "reachable_pairs"),
        "referring": ("Reference", "refer"),
        "render": ("render_with_mask",),  # not "render": the name is also the submodule
        "scene": ("ATTRIBUTES", "Camera", "Object", "Scene", "random_object", "random_scene"),
    },
)
