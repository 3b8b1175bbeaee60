from hpsweep.cli import console

console()
