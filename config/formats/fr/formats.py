"""French dates as clinicians write them: 07/12/2026, 07/12/2026 14:30, décembre 2026.

Django's own French locale writes a date "7 décembre 2026"; a liaison sheet, a prescription
or a lab result says 07/12/2026. Any date a template shows without an explicit format
(`{{ sheet.planned_date }}`, `|date`) follows these; months keep their name.
"""

DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
