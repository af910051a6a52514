"""Request and response models (`XBase → XCreate / XUpdate / XPublic`)."""
