from twisted.application.service import ServiceMaker

redislite = ServiceMaker("RedisLite", "redislite.tap", "A Redis 7.0-compatible in-memory server.", "redislite")
