"""Running lbdemo's own processes and what they listen on."""
