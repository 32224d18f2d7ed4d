"""Local emulators of the vendor clouds (Hostwinds, Cloudflare, MailU) and the sandbox DNS."""
