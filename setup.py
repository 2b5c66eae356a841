"""Build hook for the one native module; everything else is in pyproject.toml.

``bootwright.net.tftp._tftp_pump`` (lock-step TFTP without Python per block, see
docs/tftp.md) is optional: without a C compiler the install goes on and the
TFTP service uses its pure-Python path.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bootwright.net.tftp._tftp_pump",
            ["src/bootwright/net/tftp/_tftp_pump.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
        )
    ]
)
