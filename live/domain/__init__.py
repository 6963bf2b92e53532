"""Pure meeting logic: values in, values out. No I/O and no framework imports here."""
