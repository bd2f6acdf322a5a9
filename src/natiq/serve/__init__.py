"""natiq's speech service: REST, WebSocket streaming, batch jobs and a web page.

The server only calls the public ``natiq.Synthesizer``; it never reaches into a
backend or a trainer. ``natiq.serve.app.create_app(settings)`` builds the
FastAPI application; ``natiq serve`` runs it under uvicorn. ``natiq.serve.wyoming``
speaks the Wyoming protocol (Home Assistant) over the same state.
"""
