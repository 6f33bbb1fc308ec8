"""State backends are registered: the stack's ``state:`` block is made of theirs."""

from __future__ import annotations

from typing import get_args

import pytest

from provisioner.errors import UsageError
from provisioner.stack.model import StateConfig
from provisioner.state.backends import BACKENDS, get_backend


def test_the_state_block_has_the_keys_of_the_registered_backends() -> None:
    keys = {key for backend in BACKENDS.values() for key in backend.settings.model_fields}
    assert set(StateConfig.model_fields) == {"backend", *keys}
    assert get_args(StateConfig.model_fields["backend"].annotation) == tuple(BACKENDS)


def test_an_unknown_backend_names_the_registered_ones() -> None:
    with pytest.raises(UsageError) as caught:
        get_backend("s3")
    assert (caught.value.message, caught.value.hint) == ("unknown state backend 's3'",
                                                         "use local or postgres")
