import sys

from softphone.app import main

sys.exit(main())
