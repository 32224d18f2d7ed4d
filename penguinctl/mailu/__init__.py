"""MailU on a server: the rendered files (:mod:`.render`) and how they are deployed
(:mod:`.deploy`, over :mod:`penguinctl.remote`)."""
