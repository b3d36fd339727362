"""Chat models behind one small interface; LangChain stays behind it."""
