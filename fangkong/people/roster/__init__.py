"""Roster import and export: rosters as community workers really keep them.

- `columns`: the words a roster uses (header synonyms, tags, residency, yes/no, building labels).
- `reading`: cells out of an .xlsx (streamed, merged ranges filled) or a .csv (UTF-8 or GBK).
- `parsing`: the header row, then each row to a normalised `RosterRow` or a `Rejection`; pure.
- `importing`: the services that write a parsed roster in chunks, as an `ImportJob`.
- `report`: the rejected rows as a downloadable .xlsx.
- `exporting`: a scoped roster to .xlsx, in the columns the importer reads back.
"""
