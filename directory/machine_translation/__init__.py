"""Machine translation of listing texts: providers (DeepL, LibreTranslate) behind one interface,
and the step that stores their results as machine translations for people to review."""
