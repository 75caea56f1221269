DROP TABLE IF EXISTS alert_deliveries;
DROP TABLE IF EXISTS alerts;
