# rtimer with its output piped: plain lines, one per second (-s sets the increment to 1)
rtimer --no-sound -s 2 | cat
