"""Park simulator: a whole park's Modbus devices behind pymodbus servers, with a control API."""
