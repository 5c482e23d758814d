//! Store backends: an embedded file store (redb) and Redis (fred).
