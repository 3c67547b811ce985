"""Data only: Discord's OpenAPI document (``openapi.json``), its MIT licence and a note on its origin.

A package (rather than a bare folder) so that packaging ships the JSON file with the emulator.
"""
