"""The web pages, one module per room (roster, registers, reports, media, accounts, home);
attendance/wiring/urls.py maps every URL to its view. Each view: check access, validate a
form, call one function, respond."""
