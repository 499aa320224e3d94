"""CPTS life: meetings, trainings, permanences, case meetings and the annual day (docs/events.md).

Events are where the CPTS's medical, social and medico-social actors meet; their attendance
and satisfaction are the indicators the territorial action plans name (issue #20).
"""
