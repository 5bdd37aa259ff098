"""Adapters from our library to other frameworks. Each lives in its own module and imports its
framework lazily there (e.g. `from rag.integrations.langchain import RagRetriever`)."""
