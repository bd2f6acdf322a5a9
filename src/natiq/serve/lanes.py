"""Who uses the model next: interactive requests before batch items, one piece at a time.

The ``Synthesizer`` hands text to its backend in model-sized pieces
(``natiq.text.chunking``). The server wraps the backend in a
``ScheduledBackend`` so that each piece must first win a turn on the model
from ``ModelLanes``:

- a waiting interactive request (speech, ``/tts``, WebSocket) always gets the
  next free turn before any batch item;
- a batch item that is generating when an interactive request starts to wait
  gives its turn up at the next frame, and generates that piece again later
  (batch frames are held back until their piece is whole, so nothing is sent
  twice); interactive requests therefore wait at most one frame behind a batch;
- every turn checks its ``Ticket``'s stop event between frames: a client that
  went away, a deleted batch job or a shutdown stops the model's generation
  loop at the next frame (closing the backend's generator stops it there),
  and a ticket stopped while waiting never starts.

Which ticket a piece belongs to is set per thread (``ModelLanes.serving``):
the synthesis runs on one thread from plan to last chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class SynthesisCancelled(Exception):
    """The ticket was stopped: the client left, the job was deleted or the server is stopping."""


@dataclass
class Ticket:
    """One synthesis' claim on the model: its priority and its stop switch."""

    interactive: bool
    stop: threading.Event = field(default_factory=threading.Event)
    preemptions: int = 0


class ModelLanes:
    """Turns on the model for ``slots`` pieces at once, interactive tickets first. Thread-safe."""

    def __init__(self, slots: int = 1) -> None:
        self._free = slots
        self._waiting_interactive = 0
        self._cond = threading.Condition()
        self._local = threading.local()

    # ----- which ticket the current thread serves
    @contextmanager
    def serving(self, ticket: Ticket) -> Iterator[None]:
        previous = getattr(self._local, "ticket", None)
        self._local.ticket = ticket
        try:
            yield
        finally:
            self._local.ticket = previous

    def current(self) -> Ticket:
        ticket = getattr(self._local, "ticket", None)
        return ticket if ticket is not None else Ticket(interactive=True)

    # ----- turns
    def acquire(self, ticket: Ticket) -> None:
        """Wait for a turn; raises ``SynthesisCancelled`` if the ticket is stopped meanwhile."""
        with self._cond:
            if ticket.interactive:
                self._waiting_interactive += 1
            try:
                while not (
                    self._free > 0 and (ticket.interactive or self._waiting_interactive == 0)
                ):
                    if ticket.stop.is_set():
                        raise SynthesisCancelled
                    self._cond.wait(timeout=0.1)  # a stop set without ``cancel`` is seen too
                if ticket.stop.is_set():
                    raise SynthesisCancelled
                self._free -= 1
            finally:
                if ticket.interactive:
                    self._waiting_interactive -= 1
                    self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def cancel(self, ticket: Ticket) -> None:
        """Stop ``ticket``: its current piece ends at the next frame, a wait ends at once."""
        ticket.stop.set()
        with self._cond:
            self._cond.notify_all()

    def interactive_waiting(self) -> bool:
        return self._waiting_interactive > 0

    @contextmanager
    def turn(self, ticket: Ticket) -> Iterator[None]:
        self.acquire(ticket)
        try:
            yield
        finally:
            self.release()


class ScheduledBackend:
    """A backend whose every model call waits for a turn from ``ModelLanes``.

    Everything but ``generate`` and ``prepare_voice`` (``sample_rate``,
    ``frontend``, ``check_options``, ...) is the wrapped backend's.
    """

    def __init__(self, backend: Any, lanes: ModelLanes, on_preempt: Any = None) -> None:
        self.backend = backend
        self.lanes = lanes
        self._on_preempt = on_preempt

    def __getattr__(self, name: str) -> Any:
        if name == "backend":  # not yet set (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.backend, name)

    def prepare_voice(self, prompt: Any) -> Any:
        ticket = self.lanes.current()
        with self.lanes.turn(ticket):
            return self.backend.prepare_voice(prompt)

    def generate(self, model_text: str, voice: Any, options: Any) -> Iterator[np.ndarray]:
        ticket = self.lanes.current()
        if ticket.interactive:
            with self.lanes.turn(ticket):
                yield from self._frames(model_text, voice, options, ticket)
            return
        while True:
            frames: list[np.ndarray] = []
            with (
                self.lanes.turn(ticket),
                closing(self._frames(model_text, voice, options, ticket)) as generated,
            ):
                for frame in generated:
                    if self.lanes.interactive_waiting():
                        break
                    frames.append(frame)
                else:
                    break
            ticket.preemptions += 1
            if self._on_preempt is not None:
                self._on_preempt()
        yield from frames

    def _frames(
        self, model_text: str, voice: Any, options: Any, ticket: Ticket
    ) -> Iterator[np.ndarray]:
        """The backend's frames; stops the backend (closes its generator) when the ticket is stopped."""
        with closing(self.backend.generate(model_text, voice, options)) as frames:
            for frame in frames:
                if ticket.stop.is_set():
                    raise SynthesisCancelled
                yield frame
        if ticket.stop.is_set():
            raise SynthesisCancelled
