"""The problem types: one Indonesian page per machine ``code`` of an RFC 9457 problem.

Every problem's ``type`` is ``{APKD_BASE_URL}/problems/{code}`` (apkd.errors.problem_type), and
``GET /problems/{code}`` answers with this page: what the code means and what to do.
``CATALOG`` holds every code the app raises (tests/test_problems.py keeps it complete).
"""

from __future__ import annotations

import html
import re
from typing import Any

from litestar import MediaType, Response, get

from apkd.errors import NotFound

# code -> (HTTP status, what it means and what to do)
CATALOG: dict[str, tuple[int, str]] = {
    # --- the request itself
    "bad_request": (
        400,
        "Permintaan tidak dapat dibaca (misalnya bukan JSON yang sah). Perbaiki lalu kirim lagi.",
    ),
    "validation_error": (
        400,
        "Isian tidak sesuai format: ada yang hilang atau jenisnya salah. Lihat 'errors'.",
    ),
    "invalid_json": (400, "Isi permintaan harus JSON yang sah."),
    "invalid_utf8": (400, "Isi permintaan harus teks UTF-8 yang sah."),
    "json_too_deep": (
        400,
        "JSON bersarang terlalu dalam (lebih dari 64 tingkat). Kirim data yang lebih datar.",
    ),
    "out_of_range": (
        422,
        "Ada isian di luar batasnya: teks terlalu panjang atau angka di luar rentang kolomnya.",
    ),
    "forbidden_characters": (
        422,
        "Teks memuat karakter kendali (misalnya NUL) atau, pada nama, karakter pembalik arah teks. Hapus lalu kirim lagi.",
    ),
    "value_refused": (422, "Basis data menolak salah satu nilai. Periksa panjang dan isi setiap isian."),
    "unprocessable": (422, "Data tidak dapat diproses. Baca 'detail' untuk perbaikannya."),
    "payload_too_large": (413, "Isi permintaan melebihi batas ukuran. Kirim data yang lebih kecil."),
    "headers_too_large": (431, "Header permintaan terlalu besar atau terlalu banyak."),
    "method_not_allowed": (405, "Metode HTTP ini tidak didukung pada alamat ini."),
    "not_found": (404, "Alamat atau data yang diminta tidak ada."),
    # --- logins and roles
    "unauthorized": (401, "Token akses tidak ada, tidak sah, atau kedaluwarsa. Masuk (login) lagi."),
    "invalid_credentials": (401, "Nama pengguna atau kata sandi salah."),
    "login_too_old": (401, "Sesi login sudah terlalu lama. Masuk lagi."),
    "forbidden": (403, "Peran Anda tidak berhak atas tindakan atau data ini."),
    "too_many_login_attempts": (
        429,
        "Terlalu banyak percobaan masuk yang gagal. Tunggu sesuai Retry-After lalu coba lagi.",
    ),
    "rate_limited": (429, "Terlalu banyak permintaan dari alamat Anda. Tunggu sesuai Retry-After."),
    # --- users
    "invalid_username": (
        422,
        "Nama pengguna 3-64 karakter: huruf kecil, angka, titik, garis bawah, tanda hubung.",
    ),
    "invalid_role": (422, "Peran harus admin, proctor, candidate, auditor atau viewer."),
    "weak_password": (422, "Kata sandi terlalu pendek atau terlalu panjang."),
    "invalid_full_name": (422, "Nama lengkap wajib diisi."),
    "invalid_nip": (
        422,
        "NIP harus 18 digit yang masuk akal (tanggal lahir, TMT CPNS, jenis kelamin, nomor urut).",
    ),
    "invalid_region_code": (422, "Kode wilayah harus 4 digit (kode kabupaten/kota)."),
    "username_taken": (409, "Nama pengguna sudah dipakai. Pilih nama lain."),
    "nip_taken": (409, "NIP ini sudah terdaftar pada pengguna lain."),
    "unknown_user": (422, "Pengguna yang disebut tidak ada."),
    "not_a_candidate": (422, "Pengguna ini bukan peserta ujian."),
    # --- sessions and registrations
    "unknown_scheme": (422, "Skema yang disebut tidak ada. Impor bank soalnya terlebih dahulu."),
    "scheme_not_found": (404, "Skema tidak ditemukan."),
    "scheme_retired": (
        409,
        "Versi skema ini sudah dipensiunkan: sesi baru tidak dapat memakainya. Impor versi baru bank soalnya.",
    ),
    "scheme_version_mismatch": (409, "Versi yang disebut bukan versi skema yang sedang berlaku."),
    "unknown_proctor": (422, "Pengguna yang disebut bukan pengawas."),
    "invalid_title": (422, "Judul sesi wajib diisi."),
    "invalid_venue": (422, "Tempat uji wajib diisi."),
    "invalid_timezone": (422, "Zona waktu tidak dikenal (contoh: Asia/Makassar)."),
    "invalid_window": (422, "Waktu selesai sesi harus setelah waktu mulai."),
    "invalid_capacity": (422, "Kapasitas sesi harus 1 atau lebih."),
    "session_not_found": (404, "Sesi ujian tidak ditemukan."),
    "session_started": (
        409,
        "Sesi sudah dimulai: skema, zona waktu dan waktu mulai tidak dapat diubah, waktu selesai hanya "
        "dapat diundurkan.",
    ),
    "session_published": (409, "Hasil sesi sudah diterbitkan; sesi tidak dapat diubah lagi."),
    "capacity_below_registered": (409, "Kapasitas tidak boleh di bawah jumlah peserta yang sudah terdaftar."),
    "not_your_session": (403, "Anda bukan pengawas sesi ujian ini."),
    "session_full": (409, "Sesi sudah penuh."),
    "already_registered": (409, "Peserta ini sudah terdaftar pada sesi ini."),
    "registration_not_found": (404, "Pendaftaran tidak ditemukan."),
    "not_registered": (403, "Anda tidak terdaftar pada sesi ujian ini."),
    "not_admitted": (403, "Pengawas belum mengizinkan Anda masuk. Tunjukkan identitas Anda kepada pengawas."),
    "outside_session_window": (409, "Di luar jendela waktu sesi ujian."),
    "invalid_category": (422, "Kategori kejadian harus environment, candidate, staff atau technical."),
    "description_required": (422, "Uraian kejadian wajib diisi."),
    "description_too_long": (422, "Uraian kejadian terlalu panjang."),
    "unknown_attempt": (422, "Ujian yang disebut tidak ada pada sesi ini."),
    "bank_insufficient": (409, "Paket soal tidak dapat disusun dari bank soal. Hubungi admin."),
    "bank_has_drafts": (
        409,
        "Bank soal berisi soal draft yang belum ditelaah; di produksi soal itu tidak boleh diujikan. "
        "Catat telaahnya di berkas bank soal, lalu impor lagi.",
    ),
    # --- attempts
    "attempt_not_found": (404, "Ujian tidak ditemukan."),
    "not_your_attempt": (403, "Ujian ini bukan milik Anda."),
    "item_not_found": (404, "Nomor soal ini tidak ada pada ujian."),
    "stale_seq": (
        409,
        "Jawaban ini lebih lama dari yang sudah tersimpan ('stored_seq'). Muat ulang ujian; jawaban tersimpan tetap ada.",
    ),
    "invalid_seq": (422, "Nomor urut simpan (seq) harus bilangan bulat 0 atau lebih."),
    "invalid_position": (422, "Nomor soal tidak sah."),
    "invalid_response": (422, "Jawaban tidak cocok dengan jenis soalnya."),
    "attempt_closed": (
        409,
        "Ujian sudah ditutup (dikumpulkan, waktu habis, atau dihentikan); statusnya ada di 'attempt_status'.",
    ),
    "attempt_paused": (409, "Ujian sedang dihentikan sementara oleh pengawas. Tunggu sampai dilanjutkan."),
    "account_inactive": (401, "Akun ini dinonaktifkan. Hubungi admin lembaga sertifikasi."),
    "login_ended": (
        401,
        "Login ini sudah berakhir (keluar, kata sandi diganti, atau akun dinonaktifkan). Silakan masuk lagi.",
    ),
    "same_password": (422, "Kata sandi baru harus berbeda dari yang lama."),
    "user_not_found": (404, "Pengguna tidak ditemukan. Periksa nomor pengguna."),
    "cannot_deactivate_self": (409, "Admin tidak dapat menonaktifkan akunnya sendiri; minta admin lain."),
    "attempt_moved": (
        409,
        "Ujian dipindahkan ke komputer lain oleh pengawas. Tutup halaman ini dan lanjutkan di komputer yang baru.",
    ),
    "invalid_seat": (422, "Nomor kursi/komputer paling panjang 16 karakter."),
    "invalid_variant": (400, "Parameter variant hanya boleh 'excel-id' (atau dikosongkan)."),
    "other_device": (
        409,
        "Ujian ini terikat ke login lain. Minta pengawas melepasnya bila Anda pindah komputer.",
    ),
    "save_failed": (
        503,
        "Jawaban tidak dapat disimpan saat ini. Jawaban yang tersimpan tetap aman; coba lagi.",
    ),
    "reason_required": (422, "Alasan wajib diisi."),
    "reason_too_long": (422, "Alasan terlalu panjang."),
    "invalid_minutes": (422, "Tambahan waktu harus menit bulat yang masuk akal."),
    # --- grading and results
    "results_not_published": (403, "Hasil ujian belum diumumkan."),
    "result_not_found": (404, "Hasil ujian ini belum tersedia."),
    "attempt_not_gradable": (409, "Ujian ini tidak dapat dinilai: paket soalnya tidak lengkap."),
    "item_version_not_found": (404, "Versi soal tidak ditemukan."),
    "invalid_action": (422, "Tindakan koreksi harus 'rekey' atau 'void'."),
    "answer_required": (422, "Kunci jawaban baru ('answer') wajib diisi untuk rekey."),
    "key_unchanged": (409, "Kunci jawaban baru sama dengan yang berlaku."),
    "already_voided": (409, "Soal ini sudah dibatalkan."),
    "invalid_format": (422, "Parameter format harus 'json' atau 'csv'."),
    # --- credentials and keys
    "credential_not_found": (404, "Sertifikat tidak ditemukan."),
    "not_your_credential": (403, "Sertifikat ini bukan milik Anda."),
    "invalid_number": (400, "Nomor sertifikat tidak sah (bentuk APKD-SKEMA-WILAYAH-TAHUN-NOMOR-CEK)."),
    "invalid_form": (400, "Isian formulir halaman verifikasi tidak dapat dibaca (harus teks UTF-8 biasa)."),
    "invalid_credential_number": (
        400,
        "Nomor sertifikat tidak sah (bentuk APKD-SKEMA-WILAYAH-TAHUN-NOMOR-CEK).",
    ),
    "bad_check_character": (400, "Digit pemeriksa nomor sertifikat tidak cocok: periksa salah ketik."),
    "credential_revoked": (409, "Sertifikat ini sudah dicabut; pencabutan bersifat permanen."),
    "already_suspended": (409, "Sertifikat ini sudah dibekukan."),
    "not_suspended": (409, "Sertifikat ini tidak sedang dibekukan."),
    "status_list_not_found": (404, "Daftar status tidak ditemukan."),
    "key_not_found": (404, "Kunci penanda tangan tidak ditemukan."),
    "key_already_compromised": (409, "Kunci ini sudah ditandai bocor."),
    "invalid_key": (422, "Kunci tidak sah."),
    "registry_unavailable": (
        503,
        "Registri tidak dapat dihubungi. Coba lagi, atau periksa kode QR secara luring.",
    ),
    # --- the transparency log
    "invalid_index": (400, "Indeks log harus bilangan bulat 0 atau lebih."),
    "invalid_tree_size": (400, "Ukuran pohon harus bilangan bulat 0 atau lebih."),
    "invalid_range": (400, "Rentang tidak valid: end lebih kecil dari start."),
    "invalid_proof_request": (400, "Permintaan bukti tidak valid."),
    "invalid_note": (
        400,
        "Catatan checkpoint tidak berformat C2SP signed note (isi checkpoint, baris kosong, baris tanda tangan '— ').",
    ),
    "checkpoint_unknown": (
        409,
        "Checkpoint yang ditandatangani saksi bukan checkpoint yang pernah ditandatangani log ini (origin, ukuran, atau akar berbeda).",
    ),
    "cosignature_refused": (
        422,
        "Tidak ada cosignature dari saksi yang dikenal log ini (APKD_LOG_WITNESSES). Periksa nama dan kunci saksi.",
    ),
    "cosignature_invalid": (
        422,
        "Cosignature saksi tidak sah: tanda tangan tidak cocok, ukurannya salah, atau waktunya di masa depan.",
    ),
    "index_out_of_range": (400, "Indeks harus lebih kecil dari ukuran pohon."),
    "first_after_second": (400, "first tidak boleh lebih besar dari second."),
    "first_not_positive": (
        400,
        "first paling sedikit 1: bukti konsistensi didefinisikan untuk 0 < first <= second.",
    ),
    "tree_size_too_large": (400, "Ukuran pohon melebihi ukuran log saat ini."),
    # --- the server
    "conflict": (409, "Permintaan bertentangan dengan keadaan data saat ini."),
    "service_unavailable": (503, "Layanan sedang tidak tersedia. Coba lagi sesuai Retry-After."),
    "database_unavailable": (
        503,
        "Basis data sedang tidak dapat dihubungi. Data yang sudah tersimpan tetap aman; coba lagi sesuai Retry-After.",
    ),
    "internal_error": (500, "Kesalahan di server. Data yang sudah tersimpan tetap aman; coba lagi."),
    # --- the certification decision, conflicts of interest, re-sits (docs/decisions/026)
    "no_decision_permission": (
        403,
        "Anda tidak memiliki wewenang keputusan sertifikasi (admin, atau pengawas yang diberi wewenang).",
    ),
    "decider_involved": (
        403,
        "Keputusan sertifikasi diambil oleh orang yang tidak menguji: Anda terlibat dalam sesi ini. Minta pemegang wewenang lain.",
    ),
    "conflict_of_interest": (
        403,
        "Anda menyatakan benturan kepentingan dengan peserta ini; peserta ditangani pengawas lain.",
    ),
    "conflict_already_declared": (409, "Benturan kepentingan Anda dengan peserta ini sudah tercatat."),
    "invalid_conflict_kind": (422, "Jenis benturan kepentingan: same_instansi, family, superior atau other."),
    "reassign_conflicted": (
        422,
        "Peserta hanya dapat dipindahkan ke pengawas lain sesi ini yang tidak berbenturan kepentingan.",
    ),
    "proctors_only": (403, "Hanya pengawas sesi yang dapat melakukan ini."),
    "resit_too_soon": (409, "Masa tunggu ujian ulang skema ini belum lewat; lihat 'available_from'."),
    "resit_limit_reached": (409, "Batas ujian skema ini dalam 365 hari sudah tercapai."),
    # --- appeals (banding)
    "result_not_published": (409, "Banding dapat diajukan setelah hasil ujian diumumkan."),
    "appeal_period_over": (409, "Masa banding skema ini sudah berakhir; lihat 'appeal_deadline'."),
    "appeal_exists": (
        409,
        "Banding atas ujian ini sudah diajukan; ikuti perkembangannya di daftar banding Anda.",
    ),
    "appeal_not_found": (404, "Banding tidak ditemukan. Periksa nomornya."),
    "appeal_decided": (409, "Banding ini sudah diputuskan; keputusannya tidak diubah lewat jalur ini."),
    "not_your_appeal": (403, "Anda hanya dapat melihat banding Anda sendiri atau yang Anda periksa."),
    "not_the_reviewer": (403, "Hanya pemeriksa yang ditugaskan yang memutus banding ini."),
    "reviewer_not_impartial": (
        422,
        "Pemeriksa banding harus memegang wewenang keputusan dan tidak terlibat dalam sesi itu maupun keputusannya.",
    ),
    "invalid_positions": (
        422,
        "Nomor soal yang disebut tidak ada pada ujian ini atau tidak termasuk yang dibanding.",
    ),
    "invalid_remedy": (
        422,
        "Tindak lanjut banding yang diterima: key_correction, regrade atau resit; banding yang ditolak tanpa tindak lanjut.",
    ),
    "corrections_required": (
        422,
        "Sebutkan koreksi kunci (nomor soal, tindakan, kunci baru) untuk soal yang dibanding.",
    ),
    "invalid_state": (422, "Status: diajukan, diperiksa, diterima atau ditolak."),
    # --- complaints (pengaduan)
    "invalid_name": (422, "Nama pengadu wajib diisi (paling panjang 200 karakter)."),
    "invalid_contact": (422, "Kontak harus alamat surel atau nomor telepon yang dapat dihubungi."),
    "invalid_subject": (422, "Pokok pengaduan: credential (sertifikat) atau body (lembaga)."),
    "credential_number_required": (422, "Pengaduan tentang sertifikat perlu nomor sertifikatnya."),
    "unknown_credential": (422, "Sertifikat dengan nomor ini tidak ditemukan. Periksa nomornya."),
    "complaint_not_found": (404, "Pengaduan dengan nomor ini tidak ditemukan. Periksa nomor pengaduan Anda."),
    "complaint_decided": (409, "Pengaduan ini sudah diputuskan."),
    # issue 14: the console (banks upload, candidates import, coverage and exports)
    "bank_invalid": (422, "Berkas bank soal tidak lolos pemeriksaan; kesalahan disebut per baris (errors)."),
    "csv_empty": (422, "Berkas CSV kosong; baris pertama harus judul kolom."),
    "csv_missing_columns": (422, "Berkas CSV harus berkolom nip, nama, instansi, jabatan (email boleh)."),
    "csv_too_many_rows": (422, "Terlalu banyak baris dalam satu impor; bagi berkasnya."),
    "invalid_horizon": (422, "Rentang bulan harus 1 sampai 60."),
    "invalid_level": (422, "Tingkat cakupan harus province, regency atau instansi."),
    "invalid_page": (422, "Nomor halaman atau jumlah per halaman di luar batas."),
    "invalid_scheme_code": (422, "Kode skema tidak sah."),
    "no_certificates": (404, "Sesi ini belum memiliki sertifikat terbit."),
    "outside_scope": (403, "Akun peninjau hanya boleh melihat pegawai pemerintah daerahnya sendiri."),
    "not_in_session": (422, "Nama pengguna yang disebut tidak terdaftar pada sesi ini."),
    "query_too_short": (422, "Ketik paling sedikit 3 karakter NIP atau nama."),
    "viewer_without_region": (403, "Akun peninjau ini belum diberi kode wilayah; minta admin mengaturnya."),
    # --- exam sites without internet (docs/decisions/024-site-packages.md)
    "site_refused": (409, "Langkah lokasi ujian ini tidak dapat dilakukan sekarang. Baca keterangannya."),
    "centre_only": (403, "Server ini adalah server lokasi ujian; layanan ini hanya ada di server pusat."),
    "session_over": (409, "Sesi ujian sudah berakhir; paket lokasi tidak dapat dibuat."),
    "session_started_centrally": (409, "Sesi sudah berjalan di pusat; paket lokasi tidak dapat dibuat."),
    "session_locked": (403, "Paket ujian di lokasi ini belum dibuka pengawas, atau sesi sudah disegel."),
    "site_clock_wrong": (
        409,
        "Jam komputer lokasi salah (lebih awal dari pembuatan paket). Betulkan tanggal dan jam.",
    ),
    "site_database_conflict": (
        409,
        "Basis data lokasi sudah memuat data lain dengan nomor sama. Pakai basis data baru.",
    ),
    "package_not_loaded": (404, "Belum ada paket yang dimuat untuk sesi ini di lokasi ini."),
    "package_already_loaded": (
        409,
        "Paket (atau paket lain untuk sesi yang sama) sudah dimuat di lokasi ini.",
    ),
    "package_expired": (409, "Paket sudah kedaluwarsa; minta paket baru ke pusat."),
    "package_wrong_issuer": (
        422,
        "Sidik kunci penerbit paket bukan yang diberikan pusat. Jangan muat paket ini.",
    ),
    "not_unlocked": (409, "Paket belum pernah dibuka di lokasi ini; tidak ada hasil untuk disegel."),
    "unlock_too_early": (403, "Paket baru dapat dibuka 30 menit sebelum sesi dimulai."),
    "unlock_too_late": (403, "Waktu sesi sudah berakhir; paket tidak dapat dibuka lagi."),
    "unlock_wrong_code": (
        403,
        "Kode pembuka salah. Periksa lembar pengawas; setiap percobaan gagal dicatat.",
    ),
    "results_conflict": (
        409,
        "Hasil paket ini sudah diterima dari berkas lain; berkas yang bertentangan ditolak.",
    ),
    "results_unknown_package": (422, "Berkas hasil ini bukan untuk paket yang diterbitkan pusat ini."),
    "results_package_mismatch": (
        422,
        "Berkas hasil memuat data yang tidak cocok dengan paket yang diterbitkan.",
    ),
    "results_audit_broken": (422, "Rantai audit di dalam berkas hasil rusak."),
    "results_malformed": (422, "Berkas hasil bukan berkas hasil lokasi apkd yang utuh."),
    "package_malformed": (422, "Isi paket rusak atau bukan JSON."),
    "package_wrong_format": (422, "Berkas ini bukan paket apkd."),
    "package_too_large": (422, "Berkas terlalu besar untuk paket."),
    "package_bad_signature": (422, "Tanda tangan paket tidak cocok: berkas diubah atau rusak."),
    "package_bad_key": (422, "Kunci publik penanda tangan paket tidak sah."),
    "package_wrong_signer": (422, "Paket ditandatangani dengan kunci lain dari yang diharapkan."),
    "package_bad_package": (422, "Bagian terenkripsi atau parameter paket rusak."),
    "results_wrong_format": (422, "Berkas ini bukan berkas hasil apkd."),
    "results_too_large": (422, "Berkas terlalu besar untuk berkas hasil."),
    "results_bad_signature": (422, "Tanda tangan berkas hasil tidak cocok: berkas diubah atau rusak."),
    "results_bad_key": (422, "Kunci publik penanda tangan berkas hasil tidak sah."),
    "results_wrong_signer": (422, "Berkas hasil ditandatangani dengan kunci lain dari yang diharapkan."),
    "results_bad_package": (422, "Bagian terenkripsi atau parameter berkas hasil rusak."),
    "report_unknown_package": (422, "Laporan keadaan ini bukan untuk paket yang diterbitkan pusat ini."),
    "report_stale": (409, "Pusat sudah menerima laporan keadaan yang lebih baru untuk paket ini."),
    "report_malformed": (422, "Laporan keadaan lokasi rusak atau bukan laporan apkd."),
    "report_unavailable": (409, "Paket lama tanpa kunci laporan: keadaan dilaporkan setelah paket dibuka."),
    "report_wrong_format": (422, "Berkas ini bukan laporan keadaan lokasi apkd."),
    "report_too_large": (413, "Laporan keadaan lokasi terlalu besar."),
    "report_bad_signature": (422, "Tanda tangan laporan keadaan tidak cocok: laporan diubah atau palsu."),
    "report_bad_key": (422, "Kunci publik penanda tangan laporan keadaan tidak sah."),
    "report_wrong_signer": (422, "Laporan keadaan ditandatangani dengan kunci lain dari yang diharapkan."),
    "report_bad_package": (422, "Bagian laporan keadaan rusak."),
}

_CODE_RE = re.compile(r"^[a-z0-9_]{1,64}$")
_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def page(code: str) -> str:
    status, text = CATALOG[code]
    c = html.escape(code)
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        f"<title>Masalah {c}</title>"
        '<link rel="stylesheet" href="/static/app.css"></head><body><main>'
        f"<h1>Kode masalah: <code>{c}</code></h1>"
        f"<p>Status HTTP: {status}</p><p>{html.escape(text)}</p>"
        "<p>Setiap jawaban galat apkd berbentuk <code>application/problem+json</code> (RFC 9457) dengan "
        "<code>type</code> (alamat halaman ini), <code>status</code>, <code>title</code>, "
        "<code>detail</code> (apa yang harus dilakukan) dan <code>code</code>.</p>"
        "</main></body></html>"
    )


@get(
    "/problems/{code:str}",
    opt={"public": True},
    tags=["ops"],
    media_type=MediaType.HTML,
    summary="Penjelasan satu kode masalah (RFC 9457 type)",
    sync_to_thread=False,
)
def problem_page(code: str) -> Response[Any]:
    if not _CODE_RE.match(code) or code not in CATALOG:
        raise NotFound(f"Kode masalah '{code[:64]}' tidak dikenal.", code="not_found")
    return Response(
        page(code),
        media_type=MediaType.HTML,
        headers={"Cache-Control": "public, max-age=86400", "Content-Security-Policy": _CSP},
    )


ROUTES: list[Any] = [problem_page]
