from cpip.cli import main

raise SystemExit(main())
