"""Reports (Markdown + PNG plots) written from stored result documents."""
