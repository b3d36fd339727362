"""The service catalog: Backstage descriptors imported into the database, as a dependency graph.

Owners, blast radius and public names for the rest of the copilot; see `copilot.catalog.lookup`
for what other packages call.
"""
