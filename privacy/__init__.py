"""Data protection: the deletion concept and its retention job, the data subject's rights
(Art. 15 access, Art. 17 erasure, Art. 18 restriction), encryption of sensitive text at rest and
the record of processing activities (Art. 30). docs/privacy.md explains it for the city's data
protection officer."""
