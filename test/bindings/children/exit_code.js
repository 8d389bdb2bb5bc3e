// exit_code.js — exits with the code given as its first argument (a number).
'use strict';
process.exit(process.argv[2]);
