"""``python -m gan_em_tf`` is the same as the ``gan-em`` console script."""
from gan_em_tf.cli import main

raise SystemExit(main())
