from estatewatch.cli import main

raise SystemExit(main())
