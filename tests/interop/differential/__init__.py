"""The differential harness: the seeds' real daemons and bootwright answer the same clients (issue 16).

``clientset`` builds what each firmware sends, ``exchange`` sends it inside a
namespace, ``compare`` turns replies into fields and differences, ``harness``
runs ISC dhcpd, radvd, BIRD and ``bootwright serve``, ``known`` lists the
intended differences with their reasons (for docs/migrate.md).
"""
