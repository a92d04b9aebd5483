"""Who is certified where: coverage per province, kabupaten/kota and instansi, renewal planning,
and exports of valid credentials for talent-pool and personnel systems (issue 14).

Read-only over accounts, exams, grading and credentials; nothing imports this package but the app.
A ``viewer`` login sees only its own regional government (its user's ``region_code``)."""
